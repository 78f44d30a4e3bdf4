import subprocess
import sys

from django.core.management.base import BaseCommand, CommandError

from newsletter import runner


class Command(BaseCommand):
    help = "Migrate, create the staff account, then run web, worker and beat together (what `make run` does)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options) -> None:
        try:
            runner.prepare(host=host, port=port, say=self.stdout.write)
        except subprocess.CalledProcessError as error:
            raise CommandError(
                f"bin/release failed (exit {error.returncode}); see above."
            ) from None
        self.stdout.write(runner.banner(host=host, port=port))
        self.stdout.flush()
        sys.exit(runner.run_all(host=host, port=port))
