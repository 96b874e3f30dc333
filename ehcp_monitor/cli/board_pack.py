"""Commands of this area (not built yet)."""


def register(cli, report) -> None:
    pass
