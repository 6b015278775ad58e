"""``wb serve`` (the apps, Voila, the MLflow UI) and ``wb apps passwd`` (a login's password)."""

from __future__ import annotations

import os

import click

from workbench.config import load_settings


def _start_all(apps, settings, publish: bool, voila: bool, mlflow: bool, oauth_provider: str | None) -> list:
    from workbench.apps import serve as srv
    from workbench.warehouse import snapshot

    if publish and snapshot.is_stale(settings):
        click.echo("Publishing a serving snapshot of the warehouse for the apps ...")
        click.echo(f"  {snapshot.publish(settings)}")
    servers = []
    try:
        if mlflow and os.environ.get("WB_MLFLOW_URI"):  # a server that runs elsewhere: show it, start none
            servers.append(srv.Server("mlflow", 0, os.environ["WB_MLFLOW_URI"], apps.dir / "mlflow.log"))
        elif mlflow:
            from workbench.tracking import server as mlflow_server

            click.echo("MLflow UI ...")
            status = mlflow_server.start(settings)
            servers.append(srv.Server("mlflow", status.pid, status.url, status.log))
        click.echo("Apps (panel serve) ...")
        url = f"http://{apps.host}:{apps.port}"
        servers.append(srv.launch("panel", srv.panel_command(apps, oauth_provider=oauth_provider), f"{url}/login", apps))
        if voila:
            from workbench.apps.voila import voila_command

            click.echo("Report notebooks (Voila) ...")
            servers.append(srv.launch("voila", voila_command(apps), f"http://{apps.host}:{apps.voila_port}/", apps))
    except Exception:
        for server in servers:
            if server.name != "mlflow":
                srv._terminate(server.pid)
        raise
    srv.record(apps, servers)
    return servers


def _print_urls(apps, servers) -> None:
    from workbench.apps.page import PAGES, page_url

    base = f"http://{apps.host}:{apps.port}"
    click.echo("\nServing (log in with a demo user, password `retail-demo`; see README):")
    for page, info in PAGES.items():
        url = page_url(page, apps)
        click.echo(f"  {url if url.startswith('http') else base + url:<62} {info.title}")  # URLs first: CJK titles are wide
    for server in servers:
        if server.name == "mlflow":
            click.echo(f"  {server.url:<62} MLflow UI")
    click.echo(f"Logs: {apps.dir}/*.log. Stop with `wb serve --stop` (MLflow: `wb mlflow stop`).")


@click.command("serve")
@click.option("--stop", is_flag=True, help="Stop the servers `wb serve` started (MLflow keeps running: `wb mlflow stop`).")
@click.option("--status", is_flag=True, help="List the servers `wb serve` started that still run.")
@click.option("--no-publish", is_flag=True, help="Do not refresh the serving snapshot even if the warehouse is newer.")
@click.option("--no-voila", is_flag=True, help="Do not start Voila (the report notebooks).")
@click.option("--no-mlflow", is_flag=True, help="Do not start the MLflow UI.")
@click.option("--port", type=int, help="Port of the apps (default: apps.port in workbench.yaml, 5006).")
@click.option("--voila-port", type=int, help="Port of Voila (default: apps.voila_port, 8866).")
@click.option("--oauth-provider", help="Log in through Panel's OAuth provider (generic, azure, okta, google, github ...) "
              "instead of passwords; PANEL_OAUTH_KEY / _SECRET / _EXTRA_PARAMS configure it.")
def serve(stop: bool, status: bool, no_publish: bool, no_voila: bool, no_mlflow: bool, port: int | None,
          voila_port: int | None, oauth_provider: str | None) -> None:
    """Serve the apps (Panel), the report notebooks (Voila) and the MLflow UI on localhost; print their URLs.

    Runs them in the background and returns. The apps read a serving snapshot
    of the warehouse, refreshed first if the warehouse is newer (and after every
    pipeline run), so pipelines can write while managers read.

    \b
    Example:
      wb serve            # start everything, print the URLs
      wb serve --status   # what runs
      wb serve --stop     # stop the apps and Voila
      wb serve --port 8080 --voila-port 8081
    """
    from workbench.apps import serve as srv
    from workbench.apps.settings import app_settings

    for name, value in (("WB_APPS_PORT", port), ("WB_APPS_VOILA_PORT", voila_port)):
        if value:  # the servers started below read the same settings
            os.environ[name] = str(value)
    settings = load_settings()
    apps = app_settings(settings)
    if stop:
        stopped = srv.stop(apps)
        click.echo(f"Stopped {', '.join(s.name for s in stopped)}." if stopped else "Nothing was running.")
        return
    current = srv.running(apps)
    if status or current:
        for server in current:
            click.echo(f"{server.name:<8} pid {server.pid:<8} {server.url}")
        if not current:
            click.echo("Nothing is running; `wb serve` starts it.")
        elif not status:
            click.echo("Already running; `wb serve --stop` first to restart.")
        return
    try:
        servers = _start_all(apps, settings, not no_publish, not no_voila, not no_mlflow, oauth_provider)
    except Exception as err:
        raise click.ClickException(str(err)) from None
    _print_urls(apps, servers)


@click.group("apps")
def apps_group() -> None:
    """Manage who may log in to the published apps.

    \b
    Example:
      wb apps passwd u_store_017
    """


@apps_group.command("passwd")
@click.argument("user")
@click.password_option(help="The new password (asked twice if not given).")
def passwd(user: str, password: str) -> None:
    """Set USER's app password: its argon2 hash goes into the logins file.

    \b
    Example:
      wb apps passwd u_store_017
    """
    from workbench.apps.login import set_password
    from workbench.apps.settings import app_settings
    from workbench.governance.policies import load_access

    settings = load_settings()
    if user not in load_access(settings.access_file).users:
        raise click.ClickException(f"unknown user {user!r}: see `wb users` (users live in {settings.access_file})")
    apps = app_settings(settings)
    try:
        set_password(apps.logins_file, user, password)
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"Password of {user} set in {apps.logins_file}.")
