from reprise.cli.entry import run

run()
