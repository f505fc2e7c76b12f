"""fixer: repairs infrastructure files and hands the result back as reviewable git history."""

__version__ = "0.1.0"
