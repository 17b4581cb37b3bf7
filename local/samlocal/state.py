"""Where a running `samlocal up` tells the other commands how to reach it."""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = Path(os.environ.get("SAMLOCAL_STATE", ".samlocal/stack.json"))
LOG_FILE = STATE_FILE.with_name("functions.log")


@dataclass(frozen=True)
class StackState:
    endpoint_url: str
    api_url: str | None  # None: the template declares no API
    queue_urls: dict[str, str]
    pid: int

    def save(self, path: Path = STATE_FILE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path = STATE_FILE) -> "StackState":
        if not path.exists():
            raise FileNotFoundError(f"no running stack found ({path} is missing)")
        return cls(**json.loads(path.read_text()))
