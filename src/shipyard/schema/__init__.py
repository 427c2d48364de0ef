"""The model layer's view of data: signatures, request validation, reference profiles, fingerprints.

>>> from sklearn.datasets import load_iris
>>> X = load_iris(as_frame=True).data
>>> sig = infer_signature(X, {"predict": [0] * len(X)})
>>> sig.validate({"sepal length (cm)": [5.1]})[0]
('sepal width (cm)', 'missing input (float64)')
"""

from __future__ import annotations

from .conversion import to_model_input
from .dtypes import DTYPES
from .field import FieldSpec
from .fingerprint import DataFingerprint, fingerprint
from .inference import infer_signature
from .profile import CategoricalProfile, NumericProfile, Profile, profile_data
from .signature import Layout, Signature

__all__ = [
    "DTYPES",
    "CategoricalProfile",
    "DataFingerprint",
    "FieldSpec",
    "Layout",
    "NumericProfile",
    "Profile",
    "Signature",
    "fingerprint",
    "infer_signature",
    "profile_data",
    "to_model_input",
]
