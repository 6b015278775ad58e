"""``wb vision``: returns inspection (智能返货检查) and photo search (拍照识别商品) from the shell.

Photos are read only from the catalogue folder and the photos folder of the ``vision:`` settings. Expected
failures (a photo outside those folders or not an image, an unknown SKC, a photo of another product) print
one line saying what to do next and exit with code 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli_output import print_rows, refusing

EXPECTED = (ValueError, KeyError, FileNotFoundError, PermissionError)


@click.group("vision")
def vision() -> None:
    """Returns inspection and photo search on the catalogue's reference photos.

    \b
    Examples:
      wb vision catalogue --demo 50          # a generated catalogue and sample photos to try
      wb vision search --photo data/vision/catalogue/photos/search-SKC00007.jpg
      wb vision inspect --photo data/vision/catalogue/photos/return-RET04200001-stain.jpg --skc RET04200001
    """


@vision.command("catalogue")
@click.option("--demo", type=click.IntRange(1, 5000), help="Write a generated catalogue of this many SKCs first.")
@click.option("--seed", type=int, default=42, show_default=True)
@refusing(*EXPECTED)
def catalogue(demo: int | None, seed: int) -> None:
    """List the catalogue's SKCs with their declared accessories (and build the search index).

    \b
    Examples:
      wb vision catalogue
      wb vision catalogue --demo 50 --seed 7
    """
    from workbench.vision.catalogue import catalogue_index, load_catalogue, write_demo_catalogue
    from workbench.vision.conf import load_search_settings, vision_folders

    folder, _ = vision_folders()
    if demo:
        shots = write_demo_catalogue(folder, demo, seed)
        click.echo(f"wrote {demo} SKCs and {len(shots)} sample photos under {folder}", err=True)
    refs = load_catalogue(folder)
    catalogue_index(folder, load_search_settings(), progress=True)
    print_rows([{"skc": skc, "accessories": ", ".join(k for k, _ in r.accessories) or "-",
                 "size": f"{r.image.shape[1]}x{r.image.shape[0]}"} for skc, r in refs.items()], None)


@vision.command("search")
@click.option("--photo", required=True, type=click.Path(path_type=Path), help="The photo of the item.")
@click.option("--top", type=click.IntRange(1, 50), default=None, help="How many SKCs (default: vision.search.top_k).")
@refusing(*EXPECTED)
def search_command(photo: Path, top: int | None) -> None:
    """The catalogue's SKCs that best match a photo of an item, best first.

    \b
    Examples:
      wb vision search --photo data/vision/photos/IMG_0042.jpg
      wb vision search --photo data/vision/photos/IMG_0042.jpg --top 10
    """
    from workbench.vision.catalogue import catalogue_index
    from workbench.vision.conf import load_search_settings, vision_folders
    from workbench.vision.photos import read_photo
    from workbench.vision.search import search

    folder, photos = vision_folders()
    index = catalogue_index(folder, load_search_settings())
    found = search(index, read_photo(photo, [photos, folder]), top)
    print_rows([{"rank": i, "skc": skc, "verified_matches": int(score)} for i, (skc, score) in enumerate(found, 1)],
               None)


@vision.command("inspect")
@click.option("--photo", required=True, type=click.Path(path_type=Path), help="The photo of the returned item.")
@click.option("--skc", required=True, help="The style-colour it should be (its reference photo is compared).")
@click.option("--user", help="Write the verdict through the door as this user (warehouse or device role).")
@click.option("--store", help="With --user: the location that inspected it (store code, e.g. DC or S001).")
@click.option("--sku", help="With --user: the returned SKU's code.")
@refusing(*EXPECTED)
def inspect_command(photo: Path, skc: str, user: str | None, store: str | None, sku: str | None) -> None:
    """Inspect a returned item against its SKC's reference: accept, B-goods or reject, and why.

    \b
    Examples:
      wb vision inspect --photo data/vision/photos/return-0815.jpg --skc 25AW-CT0009-BLK
      wb vision inspect --photo data/vision/photos/return-0815.jpg --skc 25AW-CT0009-BLK \\
          --user u_warehouse --store DC --sku 25AW-CT0009-BLK-M
    """
    from workbench.vision.catalogue import load_catalogue
    from workbench.vision.conf import load_inspection_rules, vision_folders
    from workbench.vision.inspection import inspect
    from workbench.vision.photos import read_photo, reference_of

    if user and not (store and sku):
        raise ValueError("to write the verdict, give --store and --sku with --user")
    folder, photos = vision_folders()
    refs = load_catalogue(folder)
    ref = reference_of({k: v.image for k, v in refs.items()}, skc)
    result = inspect(ref, read_photo(photo, [photos, folder]), refs[skc].accessories, load_inspection_rules())
    print_rows([{"decision": result.decision, "defects": ", ".join(result.defects) or "-",
                 **{f"{k}_score": round(v, 5) for k, v in result.scores.items()}, "reason": result.reason}], None)
    if user:
        click.echo(f"written: {_write(result, user, store, sku, photo)} row to raw.return_inspections", err=True)


def _write(result, user: str, store: str, sku: str, photo: Path) -> int:
    import workbench as wb
    from workbench.vision.output import inspection_row, sku_of, write_inspections

    with wb.session(user, read_only=False, entry_point="device") as s:
        stores = s.table("stores")
        found = stores.filter(stores.store_code == store).store_id.to_pandas()
        if found.empty:
            raise KeyError(f"unknown store {store!r} (or outside {user}'s scope)")
        row = inspection_row(result, store_id=int(found.iloc[0]), sku_id=sku_of(s, sku), photo_ref=str(photo))
        return write_inspections(s, [row])
