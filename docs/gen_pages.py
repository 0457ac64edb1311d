"""Build-time pages of the docs site (run by the mkdocs-gen-files plugin, never by hand): one page
per registered env from its task's docstring (``actformer_envs.catalog.env_page``), and the
committed benchmark charts, copied from ``benchmarks/results/`` so that pages show the same files."""

from __future__ import annotations

from pathlib import Path

import mkdocs_gen_files

from actformer_envs.catalog import env_page, page_name
from actformer_envs.registration import ENV_IDS

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


for env_id in ENV_IDS:
    with mkdocs_gen_files.open(f"envs/{page_name(env_id)}", "w") as page:
        page.write(env_page(env_id))

for chart in sorted(RESULTS.rglob("*.png")):
    with mkdocs_gen_files.open(f"results/{chart.relative_to(RESULTS).as_posix()}", "wb") as copy:
        copy.write(chart.read_bytes())

EXAMPLES = RESULTS.parents[1] / "examples"
for example in sorted(
    path for path in EXAMPLES.rglob("*") if path.is_file() and "__pycache__" not in path.parts
):
    with mkdocs_gen_files.open(f"examples/{example.relative_to(EXAMPLES).as_posix()}", "wb") as copy:
        copy.write(example.read_bytes())
