"""digit-recognizer helpers: every function the course notebooks, the `digits` CLI, the app,
the benchmark and the tests share. docs/architecture.md maps the modules, one line each, and
the layers their imports follow (config, data and preprocessing at the bottom; models, predict,
evaluate, train; then adapt and search; widgets, the report and the CLI on top).
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) would fill every
# notebook's output; keep warnings and errors only, unless the user chose.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
