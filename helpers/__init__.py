"""digit-recognizer helpers: every function the course notebooks, CLI and tests share.

Modules, each named for what it holds: `config` (TrainConfig, profiles, paths),
`data` (MNIST), `models` (registry), `train`, `evaluate`, `preprocess` (any
image to 28x28), `predict` (model loading, prediction, the CLI), `plots`,
`artifacts` (atomic writes), `report` (the HTML report), `samples` (digits
rendered as photos), `export` (LiteRT), `saliency` (occlusion maps, no TensorFlow), `widgets`
(the notebooks' interactive panels).
"""

import os

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) would fill every
# notebook's output; keep warnings and errors only, unless the user chose.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
