# Written by tools/prerequisites.py (`make prerequisites`) from the imports. Do not edit.

PREREQUISITES_01_explore := helpers/__init__.py \
	helpers/artifacts.py \
	helpers/config.py \
	helpers/data.py \
	helpers/listings.py \
	helpers/pausepoints.py \
	helpers/plots.py
PREREQUISITES_02_train := helpers/__init__.py \
	helpers/adapt.py \
	helpers/artifacts.py \
	helpers/augment.py \
	helpers/config.py \
	helpers/data.py \
	helpers/evaluate.py \
	helpers/export.py \
	helpers/listings.py \
	helpers/models.py \
	helpers/pausepoints.py \
	helpers/plots.py \
	helpers/predict.py \
	helpers/preprocess.py \
	helpers/progress.py \
	helpers/record.py \
	helpers/saliency.py \
	helpers/samples.py \
	helpers/train.py \
	helpers/widgets.py
PREREQUISITES_03_evaluate := helpers/__init__.py \
	helpers/adapt.py \
	helpers/artifacts.py \
	helpers/augment.py \
	helpers/config.py \
	helpers/data.py \
	helpers/evaluate.py \
	helpers/export.py \
	helpers/listings.py \
	helpers/models.py \
	helpers/pausepoints.py \
	helpers/plots.py \
	helpers/predict.py \
	helpers/preprocess.py \
	helpers/progress.py \
	helpers/record.py \
	helpers/saliency.py \
	helpers/samples.py \
	helpers/train.py \
	helpers/widgets.py
PREREQUISITES_04_infer := helpers/__init__.py \
	helpers/adapt.py \
	helpers/artifacts.py \
	helpers/augment.py \
	helpers/cli.py \
	helpers/config.py \
	helpers/data.py \
	helpers/evaluate.py \
	helpers/export.py \
	helpers/listings.py \
	helpers/models.py \
	helpers/pausepoints.py \
	helpers/plots.py \
	helpers/predict.py \
	helpers/preprocess.py \
	helpers/progress.py \
	helpers/record.py \
	helpers/saliency.py \
	helpers/samples.py \
	helpers/train.py \
	helpers/widgets.py
PREREQUISITES_05_trust := helpers/__init__.py \
	helpers/adapt.py \
	helpers/artifacts.py \
	helpers/augment.py \
	helpers/config.py \
	helpers/corrupt.py \
	helpers/data.py \
	helpers/evaluate.py \
	helpers/export.py \
	helpers/listings.py \
	helpers/models.py \
	helpers/pausepoints.py \
	helpers/plots.py \
	helpers/predict.py \
	helpers/preprocess.py \
	helpers/progress.py \
	helpers/record.py \
	helpers/saliency.py \
	helpers/samples.py \
	helpers/train.py \
	helpers/trust.py
PREREQUISITES_06_adapt := helpers/__init__.py \
	helpers/adapt.py \
	helpers/artifacts.py \
	helpers/augment.py \
	helpers/config.py \
	helpers/data.py \
	helpers/evaluate.py \
	helpers/export.py \
	helpers/listings.py \
	helpers/models.py \
	helpers/pausepoints.py \
	helpers/plots.py \
	helpers/predict.py \
	helpers/preprocess.py \
	helpers/progress.py \
	helpers/record.py \
	helpers/samples.py \
	helpers/train.py
PREREQUISITES_07_search := helpers/__init__.py \
	helpers/adapt.py \
	helpers/artifacts.py \
	helpers/augment.py \
	helpers/config.py \
	helpers/data.py \
	helpers/evaluate.py \
	helpers/export.py \
	helpers/listings.py \
	helpers/models.py \
	helpers/pausepoints.py \
	helpers/plots.py \
	helpers/predict.py \
	helpers/preprocess.py \
	helpers/progress.py \
	helpers/record.py \
	helpers/saliency.py \
	helpers/samples.py \
	helpers/search.py \
	helpers/train.py \
	helpers/widgets.py
PREREQUISITES_report := helpers/__init__.py \
	helpers/artifacts.py \
	helpers/config.py \
	helpers/data.py \
	helpers/evaluate.py \
	helpers/listings.py \
	helpers/models.py \
	helpers/pausepoints.py \
	helpers/predict.py \
	helpers/preprocess.py \
	helpers/report.py \
	helpers/samples.py
