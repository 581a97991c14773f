"""One-off research: each module asks one question, says how to ask it again, and records its answer.

Run a script from the project root as `python -m experiments.NAME`; `experiments/README.md` lists
them with their answers. They may import anything in the project, and nothing in the product
(`helpers/`, `notebooks/`, `app/`, `benchmarks/`) imports or reads them. Their results go to
`experiments/results/`, never to `outputs/`.
"""
