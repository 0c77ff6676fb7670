"""A landing zone with CSV extracts for the bundled sample catalogue's `acme` source, and resources."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from exec_pipeline.defs.resources import LandingZoneResource, WarehouseResource
from exec_pipeline.lib import settings

HEADER = (
    "time,exec_id,exec_type,order_id,cl_ord_id,account,symbol,side,quantity,price,currency,commission,"
    "commission_currency,order_quantity,limit_price,cum_quantity,leaves_quantity,order_status,venue,liquidity\n"
)


def order_rows(day: str, order: str, *, fills: int = 2, quantity: int = 100, manager: str = "pairs") -> str:
    """An order of ``quantity`` on ``day`` filled in ``fills`` equal parts, as acme CSV rows."""
    rows = [f"{day} 08:00:00,{order}-N,new,{order},{manager}/{order},PB-77,VOD.L,buy,,,GBP,,,{quantity},0.72,0,{quantity},new,XLON,\n"]
    part = quantity // fills
    for n in range(1, fills + 1):
        status = "filled" if n == fills else "partially_filled"
        rows.append(
            f"{day} 08:0{n}:00,{order}-F{n},fill,{order},{manager}/{order},PB-77,VOD.L,buy,{part},0.7{n},GBP,0.5,GBP,"
            f"{quantity},0.72,{part * n},{quantity - part * n},{status},XLON,taker\n"
        )
    return "".join(rows)


def write_extract(root: Path, day: str, name: str, body: str, source: str = "acme") -> Path:
    folder = root / source / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(HEADER + body)
    old = path.stat().st_mtime - 3600  # settled long ago
    os.utime(path, (old, old))
    os.utime(folder, (old, old))
    return path


@pytest.fixture
def landing_root(tmp_path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def resources(warehouse_url: str, landing_root: Path) -> dict:
    return {
        "warehouse": WarehouseResource(url=warehouse_url),
        "landing": LandingZoneResource(url=str(landing_root), sources_path=str(settings.SAMPLE_DATA_DIR / "sources.yaml")),
    }


@pytest.fixture
def sample_landing(landing_root: Path) -> Path:
    shutil.copytree(settings.SAMPLE_DATA_DIR / "landing", landing_root, dirs_exist_ok=True)
    return landing_root
