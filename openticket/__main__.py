from openticket.cli.main import run

run()
