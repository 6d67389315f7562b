from reprise.cli.main import run

run()
