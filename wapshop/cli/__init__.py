"""The `flask` commands, one module per group of jobs."""

from wapshop.cli import commands, members, reports, sms


def init_app(app) -> None:
    app.cli.add_command(commands.setup_command)
    app.cli.add_command(commands.backup_command)
    for group in (
        commands.demo_cli,
        commands.sessions_cli,
        commands.payments_cli,
        commands.staff_cli,
        commands.catalog_cli,
        commands.deals_cli,
        reports.reports_cli,
        sms.sms_cli,
        members.members_cli,
    ):
        app.cli.add_command(group)
