from django.db import models


class Heartbeat(models.Model):
    """The last time a periodic job ran: proof that beat and a worker are alive."""

    name = models.CharField(max_length=100, unique=True)
    last_seen = models.DateTimeField()
    runs = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} at {self.last_seen:%Y-%m-%d %H:%M:%S} UTC"
