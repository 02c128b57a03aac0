"""Model security assessment before release: evasion and extraction probes against a candidate model.

``python -m scripts.assess`` runs attacks from the adversarial-robustness-toolbox (ART) against a model file
in a safe format (ONNX, run by onnxruntime; never unpickled) on a labelled sample described by a sample
spec, and exits 0 (thresholds met), 1 (thresholds missed) or 2 (cannot judge) like the policy gate.
See docs/model-assessment.md.
"""
