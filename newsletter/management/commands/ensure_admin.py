from django.core.management.base import BaseCommand

from newsletter.lib.env import env_str
from newsletter.ops import staff_account_ensure


class Command(BaseCommand):
    help = "Create the staff account from ADMIN_EMAIL/ADMIN_PASSWORD (a password is generated and printed once)."

    def handle(self, *args, **options) -> None:
        email = env_str("ADMIN_EMAIL", "admin@localhost")
        _user, generated = staff_account_ensure(
            email=email, password=env_str("ADMIN_PASSWORD") or None
        )
        if generated:
            self.stdout.write(f"Created staff account {email} with password: {generated}")
            self.stdout.write("(shown once: write it down, or set ADMIN_PASSWORD)")
        else:
            self.stdout.write(f"Staff account {email} is ready.")
