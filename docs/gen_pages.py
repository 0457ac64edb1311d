"""Build-time pages of the docs site (run by the mkdocs-gen-files plugin, never by hand): one page
per registered env from its task's docstring (``actformer_envs.catalog.env_page``), the examples
page from each example's docstring, and the committed benchmark charts and the example files,
copied so that pages show and link the repository's own files."""

from __future__ import annotations

import ast
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
#: The examples page's opening.
EXAMPLES_INTRO = """# Examples

Each runs as it says from the repository root, and the tests run each on a small budget; the text
under each is its own docstring. The CleanRL patches apply to CleanRL's own `ppo.py`
([`make_env.patch`](cleanrl/make_env.patch), [`gymnasium1_logging.patch`](cleanrl/gymnasium1_logging.patch)).
"""


def example_section(path: Path) -> str:
    """An example's heading (its file, linked) and its docstring, the usage lines as a code block."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    summary, _, rest = doc.partition("\n\n")
    text = "\n".join(
        f"```bash\n{line.strip()}\n```" if line.startswith("    ") else line for line in rest.splitlines()
    ).replace("```\n```bash\n", "")
    return f"## [`{path.name}`]({path.name})\n\n{summary.strip()}\n\n{text.replace('``', '`')}\n"


with mkdocs_gen_files.open("examples/index.md", "w") as page:
    sections = [example_section(path) for path in sorted(EXAMPLES.glob("*.py"))]
    page.write(EXAMPLES_INTRO + "\n" + "\n".join(sections))
for example in sorted(
    path for path in EXAMPLES.rglob("*") if path.is_file() and "__pycache__" not in path.parts
):
    with mkdocs_gen_files.open(f"examples/{example.relative_to(EXAMPLES).as_posix()}", "wb") as copy:
        copy.write(example.read_bytes())
