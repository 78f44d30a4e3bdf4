"""Admin for the daily runs (read-only: the run writes them) and the dashboard page."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join

from newsletter.daily.dashboard import dashboard_context
from newsletter.daily.models import DailyRun
from newsletter.lib.admin import admin_view_allowed, readable
from newsletter.papers.models import Source

STAGES = ("ingest", "matching", "sending")


@admin.register(DailyRun)
class DailyRunAdmin(admin.ModelAdmin):
    list_display = ("day", "state", "candidates", "quiet_reason", *STAGES, "finished_at")
    list_filter = ("state",)
    date_hierarchy = "day"
    readonly_fields = (
        "day",
        "state",
        "started_at",
        "ingest_deadline",
        "finished_at",
        "candidates",
        "quiet_reason",
        "stage_table",
        "notes",
        "expected_table",
        "retries_table",
        "dispatched_at",
        "dispatched_through",
    )
    exclude = ("stages", "ingest_expected", "ingest_retries")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def _stage_status(self, run: DailyRun, name: str) -> str:
        status = run.stages.get(name, {}).get("status", "-")
        if status == "running" and run.state not in DailyRun.OPEN:
            # The run is over (failed, or finished with problems): the stage did not finish.
            return "interrupted"
        return status

    def _stage_summary(self, run: DailyRun, name: str) -> str:
        stage = run.stages.get(name, {})
        if not stage:
            return "-"
        seconds = stage.get("seconds")
        text = self._stage_status(run, name)
        return f"{text} ({seconds:.0f} s)" if isinstance(seconds, int | float) else text

    @admin.display(description="ingest")
    def ingest(self, run: DailyRun) -> str:
        return self._stage_summary(run, "ingest")

    @admin.display(description="matching")
    def matching(self, run: DailyRun) -> str:
        return self._stage_summary(run, "matching")

    @admin.display(description="sending")
    def sending(self, run: DailyRun) -> str:
        return self._stage_summary(run, "sending")

    @admin.display(description="stages")
    def stage_table(self, run: DailyRun) -> str:
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    name,
                    self._stage_status(run, name),
                    run.stages.get(name, {}).get("seconds", ""),
                    readable(
                        {
                            key: value
                            for key, value in run.stages.get(name, {}).items()
                            if key
                            not in ("status", "seconds", "started_at", "finished_at", "error")
                        }
                    ),
                    run.stages.get(name, {}).get("error", ""),
                )
                for name in STAGES
            ),
        )
        return format_html(
            "<table><tr><th>stage</th><th>status</th><th>seconds</th><th>counts</th>"
            "<th>error</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="ingest expected")
    def expected_table(self, run: DailyRun) -> str:
        pairs = [(str(sid), day) for sid, day in run.ingest_expected]
        return self._per_source(["source", "listing day"], [[sid, day] for sid, day in pairs])

    @admin.display(description="ingest retries")
    def retries_table(self, run: DailyRun) -> str:
        rows = [[*key.partition(":")[::2], n] for key, n in sorted(run.ingest_retries.items())]
        return self._per_source(["source", "listing day", "tried again"], rows)

    def _per_source(self, header: list[str], rows: list[list]) -> str:
        """Rows that start with a source id, shown with the source's name."""
        if not rows:
            return "-"
        ids = [int(row[0]) for row in rows if row[0].isdigit()]
        names = {str(pk): source.name for pk, source in Source.objects.in_bulk(ids).items()}
        return readable([header, *([names.get(row[0], row[0]), *row[1:]] for row in rows)])

    def get_urls(self):
        extra = [
            path(
                "dashboard/",
                admin_view_allowed(self, self.dashboard_view, allowed=self.has_view_permission),
                name="digests_dashboard",
            )
        ]
        return extra + super().get_urls()

    def dashboard_view(self, request):
        context = {
            **self.admin_site.each_context(request),
            "title": "Dashboard",
            **dashboard_context(),
        }
        return TemplateResponse(request, "admin/digests/dashboard.html", context)
