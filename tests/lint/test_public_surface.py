"""The public-surface contract, run by lint-imports on a scratch project of two domains."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[importlinter]
root_packages =
    scratch
contract_types =
    public_surface: lint.public_surface.PublicSurfaceContract

[importlinter:contract:surfaces]
name = Surfaces
type = public_surface
domains =
    scratch.blueprints.*
surface = public
allowed_importers =
    scratch.factory
"""


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, body in {"scratch/__init__.py": "", "scratch/blueprints/__init__.py": "",
                       "scratch/blueprints/alpha/__init__.py": "", "scratch/blueprints/beta/__init__.py": "",
                       "scratch/blueprints/alpha/service.py": "def act():\n    return 1\n",
                       "scratch/blueprints/alpha/public.py": "from scratch.blueprints.alpha.service import act\n",
                       **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))
    (tmp_path / ".importlinter").write_text(CONFIG)
    return tmp_path


def lint(where: Path) -> subprocess.CompletedProcess:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (requirements-dev.txt)")
    return subprocess.run([str(lint_imports), "--no-cache"], cwd=where, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_a_domain_importing_another_domains_internals_breaks_the_contract(tmp_path):
    where = project(tmp_path, {"scratch/blueprints/beta/service.py":
                               "from scratch.blueprints.alpha.service import act\n"})
    result = lint(where)
    assert result.returncode == 1, result.stdout
    assert "scratch.blueprints.beta.service -> scratch.blueprints.alpha.service (l.1)" in result.stdout


def test_imports_through_the_public_module_or_from_the_factory_keep_it(tmp_path):
    where = project(tmp_path, {
        "scratch/blueprints/beta/service.py": "from scratch.blueprints.alpha.public import act\n",
        "scratch/factory.py": "from scratch.blueprints.alpha import service\n",  # assembles the app
        "scratch/blueprints/alpha/routes.py": "from scratch.blueprints.alpha import service\n",  # inside
    })
    result = lint(where)
    assert result.returncode == 0, result.stdout


def test_a_new_domain_is_covered_without_changing_the_contract(tmp_path):
    where = project(tmp_path, {
        "scratch/blueprints/gamma/__init__.py": "",
        "scratch/blueprints/gamma/models.py": "",
        "scratch/blueprints/beta/service.py": "import scratch.blueprints.gamma.models\n",
    })
    result = lint(where)
    assert result.returncode == 1
    assert "scratch.blueprints.beta.service -> scratch.blueprints.gamma.models" in result.stdout
