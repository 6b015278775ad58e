"""``wb studio generate | review | list | templates | tiny-weights``: AI model photos (AI模特) from the shell.

Generating writes as the user (``u_marketing`` by default, role ``marketing``); reviewing as another person
(``u_marketing_lead``): nobody reviews their own photos. Expected failures (no weights, an unknown template
key, a bad photo, no grant) print one line and exit with code 2.
"""

from __future__ import annotations

import time

import click

from workbench.cli_output import print_rows, refusing
from workbench.studio.conf import CPU_DTYPES
from workbench.studio.tiny import SHAPES

FORMATS = click.Choice(["table", "csv", "json"])
_EXPECTED = (LookupError, ValueError, PermissionError, FileNotFoundError)
_QUEUE = ["photo_id", "status", "skc_code", "variant", "seed", "style", "scene", "pairing", "image_path",
          "created_by", "decided_by", "reason"]


def _session(user: str, write: bool = False):
    """The user's session; ``write=True`` opens it read-write (the marketing role opens read-only by default)."""
    import workbench as wb

    return wb.session(user, entry_point="cli", read_only=False if write else None)


@click.group()
def studio() -> None:
    """AI model photos (AI模特): generate from a product photo, review, list the photos for use.

    \b
    Examples:
      wb studio templates                                  # the styles, scenes and pairings configured
      wb studio generate --skc 24SS-DR0003-RED --photo dress.png --style urban_female --scene cafe --n 4
      wb studio list --status pending
      wb studio review 5ce671f41401f811 --approve --user u_marketing_lead
      wb studio review 8d896302924c45a2 --reject --reason "hands deformed" --user u_marketing_lead
      wb studio list --status approved --skc 24SS-DR0003-RED   # the only ones for use
      wb studio tiny-weights /tmp/tiny-sd                  # a tiny random model to try the flow without weights
    """


@studio.command("generate")
@click.option("--skc", "skc_code", required=True, help="The product (style-colour code, 款色) in the photo.")
@click.option("--photo", type=click.Path(exists=True, dir_okay=False), required=True, help="Its product photo.")
@click.option("--style", default="urban_female", show_default=True, help="Model style: a key of studio.styles.")
@click.option("--scene", default="studio_white", show_default=True, help="Scene: a key of studio.scenes.")
@click.option("--pairing", default="casual", show_default=True, help="Pairing: a key of studio.pairings.")
@click.option("--n", type=int, default=4, show_default=True, help="Variants (1-16).")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the first variant (variant i: seed + i).")
@click.option("--mode", type=click.Choice(["inpaint", "img2img"]), default=None, help="Default: studio.mode.")
@click.option("--weights", "weights_dir", default=None, help="A diffusers folder (default: studio.weights_dir).")
@click.option("--size", type=int, default=None, help="Pixels (default: studio.size).")
@click.option("--steps", type=int, default=None, help="Denoising steps (default: studio.steps).")
@click.option("--cpu-dtype", type=click.Choice(CPU_DTYPES), default=None,
              help="Precision without a GPU (default: studio.cpu_dtype); a GPU runs float16.")
@click.option("--user", "-u", default="u_marketing", show_default=True, help="Who generates.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@refusing(*_EXPECTED)
def generate(skc_code, photo, style, scene, pairing, n, seed, mode, weights_dir, size, steps, cpu_dtype, user,
             fmt) -> None:
    """Generate N on-model photos of a product, store them with their provenance, queue them for review.

    \b
    Example:
      wb studio generate --skc 24SS-DR0003-RED --photo dress.png --scene city_street --pairing party --n 2
    """
    from workbench.studio import Look, PhotoRequest, load_studio_settings, model_photos, save_photos

    settings = load_studio_settings(weights_dir=weights_dir, size=size, steps=steps, cpu_dtype=cpu_dtype)
    started = time.perf_counter()
    with _session(user) as s:  # generating holds no write lock on the warehouse
        photos = model_photos(s, photo, PhotoRequest(skc_code, Look(style, scene, pairing), n=n, seed=seed, mode=mode),
                              settings)
    with _session(user, write=True) as s:
        saved = save_photos(s, photos, settings.output_dir)
    rows = [{**p.provenance, "image_path": str(settings.output_dir / f"{skc_code}/{p.photo_id}.png")} for p in photos]
    print_rows(rows, ["photo_id", "variant", "seed", "model_id", "device", "dtype", "image_path"], fmt,
               title=f"{len(photos)} photos ({len(saved)} new, pending review) in {time.perf_counter() - started:.1f} s")


@studio.command("review")
@click.argument("photo_ids", nargs=-1, required=True)
@click.option("--approve", "decision", flag_value="approved", help="Approve: the photos may be used.")
@click.option("--reject", "decision", flag_value="rejected", help="Reject (needs --reason).")
@click.option("--reason", default="", help="Why (required to reject).")
@click.option("--user", "-u", default="u_marketing_lead", show_default=True, help="The reviewer (not the photos' author).")
@refusing(*_EXPECTED)
def review(photo_ids, decision, reason, user) -> None:
    """Approve or reject photos (all or none); the decision is appended and audited.

    \b
    Example:
      wb studio review 5ce671f41401f811 8d896302924c45a2 --approve
    """
    from workbench.studio import decide

    if decision is None:
        raise ValueError("say --approve or --reject")
    with _session(user, write=True) as s:
        rows = decide(s, photo_ids, decision, reason)
    click.echo(f"{len(rows)} photo(s) {decision} by {user}")


@studio.command("list")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected"]), default=None)
@click.option("--skc", "skc_code", default=None, help="One product only.")
@click.option("--user", "-u", default="u_marketing", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@refusing(*_EXPECTED)
def list_photos(status, skc_code, user, fmt) -> None:
    """The review queue: every photo with its status; --status approved lists the photos for use.

    \b
    Example:
      wb studio list --status pending --format csv > to_review.csv
    """
    from workbench.studio import review_queue

    with _session(user) as s:
        queue = review_queue(s, status=status, skc_code=skc_code)
    shown = queue.reindex(columns=_QUEUE).astype(object)
    print_rows(shown.where(shown.notna(), None).to_dict("records"), _QUEUE, fmt, title=f"{len(queue)} model photos")


@studio.command("templates")
@refusing(*_EXPECTED)
def templates() -> None:
    """The prompt library (studio: in workbench.yaml): model styles, scenes and pairings.

    \b
    Examples:
      wb studio templates
    """
    from workbench.studio import load_studio_settings

    s = load_studio_settings()
    rows = [{"kind": kind, "key": k, "words": v}
            for kind, library in (("style", s.styles), ("scene", s.scenes), ("pairing", s.pairings))
            for k, v in library.items()]
    print_rows(rows, ["kind", "key", "words"], "table", title=f"prompt: {s.prompt}")


@studio.command("tiny-weights")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--shape", type=click.Choice(SHAPES), default="tiny", show_default=True,
              help="tiny (about 6 MB) or SD-Turbo's full sizes (about 2.5 GB, to time the real model without its weights).")
def tiny_weights(folder, shape) -> None:
    """Save a random SD pipeline (noise images) to FOLDER: the whole flow without real weights.

    \b
    Example:
      wb studio tiny-weights /tmp/tiny-sd && WB_STUDIO_WEIGHTS=/tmp/tiny-sd wb studio generate --size 64 ...
      wb studio tiny-weights /tmp/sd-turbo-shape --shape sd-turbo     # SD-Turbo's timings on this machine
    """
    from workbench.studio.tiny import build_tiny_weights

    click.echo(f"saved to {build_tiny_weights(folder, shape=shape)}")
