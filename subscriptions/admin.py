import csv

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from subscriptions import selectors, services
from subscriptions.addresses import address_hash_variants
from subscriptions.forms import EmailField
from subscriptions.models import ConsentRecord, Interest, Subscriber, SuppressedAddress, Topic


class InterestInline(admin.TabularInline):
    model = Interest
    extra = 0
    fields = ["kind", "value", "position"]


class ConsentRecordInline(admin.TabularInline):
    model = ConsentRecord
    extra = 0
    can_delete = False
    fields = readonly_fields = ["created_at", "action", "ip", "user_agent", "form_version", "note"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class SubscriberAdminForm(forms.ModelForm):
    # The one normaliser, as on the public forms: staff cannot store a second spelling.
    email = EmailField(
        label="Email", help_text="Stored normalised (see subscriptions/addresses.py)."
    )
    pending_email = EmailField(label="Pending email", required=False)

    class Meta:
        model = Subscriber
        fields = ["email", "pending_email"]  # the admin adds the rest from its fieldsets


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = SubscriberAdminForm
    list_display = [
        "email",
        "status",
        "topic_list",
        "frequency",
        "created_at",
        "confirmed_at",
        "last_emailed_at",
    ]
    list_filter = ["status", "frequency", "topics"]
    search_fields = ["email"]
    date_hierarchy = "created_at"
    filter_horizontal = ["topics"]
    inlines = [InterestInline, ConsentRecordInline]
    readonly_fields = ["public_id", "created_at", "link_sent_at", "link_version"]
    actions = ["resend_confirmation", "pause", "suppress", "lift_block", "export_csv"]
    fieldsets = [
        (None, {"fields": ["email", "status", "pending_email", "public_id"]}),
        (
            "Schedule",
            {
                "fields": [
                    "frequency",
                    "weekday",
                    "send_hour",
                    "timezone",
                    "max_papers",
                    "format",
                    "trending",
                    "quiet_day_note",
                ]
            },
        ),
        ("Topics", {"fields": ["topics"]}),
        (
            "History",
            {
                "fields": [
                    "created_at",
                    "confirmed_at",
                    "unsubscribed_at",
                    "last_emailed_at",
                    "link_sent_at",
                    "link_version",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscriber]:
        return super().get_queryset(request).prefetch_related("topics")

    @admin.display(description="Topics")
    def topic_list(self, subscriber: Subscriber) -> str:
        return ", ".join(t.name for t in subscriber.topics.all())

    @admin.action(
        description="Resend the confirmation email (pending only)", permissions=["change"]
    )
    def resend_confirmation(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        sent = sum(
            services.subscriber_resend_confirmation(subscriber=s)
            for s in queryset.prefetch_related("topics")
        )
        skipped = queryset.count() - sent
        self.message_user(
            request,
            f"Sent {sent} confirmation email(s); skipped {skipped} (not pending or sent recently).",
        )

    @admin.action(description="Pause the selected subscribers", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        meta = services.ConsentMeta(note=f"paused by staff ({request.user})")
        paused = sum(services.subscriber_pause(subscriber=s, meta=meta) for s in queryset)
        self.message_user(request, f"Paused {paused} subscriber(s).")

    @admin.action(
        description="Suppress: stop all mail until they confirm again", permissions=["change"]
    )
    def suppress(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        meta = services.ConsentMeta(note=f"suppressed by staff ({request.user})")
        for subscriber in queryset:
            services.subscriber_suppress(subscriber=subscriber, meta=meta)
        self.message_user(request, f"Suppressed {len(queryset)} subscriber(s).", messages.WARNING)

    @admin.action(
        description="Lift a bounce or complaint: a new signup may be confirmed again",
        permissions=["change"],
    )
    def lift_block(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> None:
        meta = services.ConsentMeta(note=f"bounce/complaint lifted by staff ({request.user})")
        lifted = sum(services.subscriber_block_lift(subscriber=s, meta=meta) for s in queryset)
        self.message_user(
            request,
            f"Lifted {lifted} subscriber(s); they are unsubscribed until they sign up and confirm "
            f"again. Skipped {len(queryset) - lifted} that had not bounced or complained.",
        )

    @admin.action(description="Export the selected subscribers as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Subscriber]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(
            ["email", "status", "topics", "keywords", "exclude", "frequency", "send_hour",
             "timezone", "max_papers", "created_at", "confirmed_at", "last_emailed_at"]
        )  # fmt: skip
        for s in queryset.prefetch_related("topics", "interests"):
            writer.writerow(
                [_csv_safe(s.email), s.status, ";".join(t.slug for t in s.topics.all()),
                 _csv_safe(";".join(s.keywords)), _csv_safe(";".join(s.excluded_terms)),
                 _frequency(s),
                 s.send_hour, s.timezone, s.max_papers, s.created_at.isoformat(),
                 s.confirmed_at.isoformat() if s.confirmed_at else "",
                 s.last_emailed_at.isoformat() if s.last_emailed_at else ""]
            )  # fmt: skip
        return response


def _frequency(s: Subscriber) -> str:
    # The import command's notation, so an export can be imported again.
    return s.frequency if s.frequency == "daily" else f"weekly:{s.get_weekday_display().lower()}"


def _csv_safe(value: str) -> str:
    # Spreadsheets run cells that start with = + - @ as formulas; keywords are typed by strangers.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "group", "active", "subscriber_count", "total_count"]
    list_filter = ["active", "group"]
    list_editable = ["active"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Topic]:
        return selectors.topics_with_counts()

    @admin.display(description="Active subscribers", ordering="subscriber_count")
    def subscriber_count(self, topic: Topic) -> int:
        return topic.subscriber_count

    @admin.display(description="All subscribers", ordering="total_count")
    def total_count(self, topic: Topic) -> int:
        return topic.total_count


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(admin.ModelAdmin):
    list_display = ["address_hash", "reason", "created_at"]
    list_filter = ["reason"]
    search_fields = ["address_hash"]
    readonly_fields = ["address_hash", "reason", "created_at"]
    actions = ["lift_block"]

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        # Staff type an address; the list holds only hashes.
        if "@" in search_term:
            return queryset.filter(address_hash__in=address_hash_variants(search_term)), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(
        description="Lift a bounce or complaint: forms may mail the address again",
        permissions=["change"],
    )
    def lift_block(self, request: HttpRequest, queryset: QuerySet[SuppressedAddress]) -> None:
        hashes = list(queryset.values_list("address_hash", flat=True))
        lifted = services.address_block_lift(address_hashes=hashes)
        self.message_user(request, f"Lifted {lifted} address(es); imports still skip them.")
