"""A catalog of definitions loaded from a directory: several versions per name, latest wins."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from .definition import Definition
from .errors import InvalidDefinition, UnknownDefinition
from .loader import load_definition

DEFINITIONS_DIR = Path(__file__).parent / "definitions"


class Catalog:
    """Every known definition, keyed by (name, version)."""

    def __init__(
        self, definitions: Iterable[Definition] = (), errors: dict[str, list[str]] | None = None
    ):
        self._by_key: dict[tuple[str, int], Definition] = {}
        for definition in definitions:
            self._by_key[(definition.name, definition.version)] = definition
        # file name -> its errors, for the files a lenient load left out
        self.errors: dict[str, list[str]] = dict(errors or {})

    @classmethod
    def load(cls, directory: str | Path | None = None, *, strict: bool = True) -> Catalog:
        """Load every *.toml in `directory` (default: shipped definitions).

        strict: any error raises InvalidDefinition with all errors at once. Not strict:
        the valid files are kept, and each broken file's errors are in `errors`.
        """
        directory = Path(directory) if directory is not None else DEFINITIONS_DIR
        errors: dict[str, list[str]] = {}
        found: dict[tuple[str, int], Definition] = {}
        for path in sorted(directory.glob("*.toml")):
            try:
                definition = load_definition(path)
            except InvalidDefinition as exc:
                errors.setdefault(path.name, []).extend(exc.errors)
                continue
            key = (definition.name, definition.version)
            if key in found:
                other = Path(found[key].source).name
                message = f"{key[0]} v{key[1]} is also defined in {other}"
                errors.setdefault(path.name, []).append(f"{path.name}: version: {message}")
                continue
            found[key] = definition
        if errors and strict:
            raise InvalidDefinition(
                [error for found_errors in errors.values() for error in found_errors]
            )
        return cls(found.values(), errors)

    def broken_files_for(self, name: str) -> list[str]:
        """Broken files that, by their name (`name.toml`, `name.vN.toml`), hold `name`."""
        return [file for file in sorted(self.errors) if file.split(".")[0] == name]

    def __iter__(self) -> Iterator[Definition]:
        return iter(sorted(self._by_key.values(), key=lambda d: (d.name, d.version)))

    def __len__(self) -> int:
        return len(self._by_key)

    def names(self) -> list[str]:
        """Every definition name, sorted."""
        return sorted({name for name, _ in self._by_key})

    def versions(self, name: str) -> list[int]:
        """Every version of `name`, ascending."""
        return sorted(version for n, version in self._by_key if n == name)

    def latest(self, name: str) -> Definition:
        """The highest version of `name`."""
        versions = self.versions(name)
        if not versions:
            raise UnknownDefinition(f"No workflow definition named '{name}'")
        return self._by_key[(name, versions[-1])]

    def get(self, name: str, version: int | None = None) -> Definition:
        """A definition by name and version (latest when version is None)."""
        if version is None:
            return self.latest(name)
        try:
            return self._by_key[(name, version)]
        except KeyError:
            known = ", ".join(map(str, self.versions(name))) or "none"
            raise UnknownDefinition(
                f"No version {version} of workflow '{name}' (known versions: {known})"
            ) from None
