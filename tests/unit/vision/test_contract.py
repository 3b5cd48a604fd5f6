import numpy as np
import pytest

from openlfr.errors import ContractMismatchError
from openlfr.vision.contract import EmbeddingContract, Template, fuse, l2_normalise

A = EmbeddingContract("m/a", "1", 4, (("chip", 112), ("colour", "rgb")))


def unit(*v: float) -> np.ndarray:
    return l2_normalise(np.array(v, np.float32))


def test_same_contract_compares() -> None:
    t1, t2 = Template(unit(1, 0, 0, 0), A), Template(unit(1, 1, 0, 0), A)
    assert t1.similarity(t2) == pytest.approx(2**-0.5, rel=1e-5)


@pytest.mark.parametrize(
    "other",
    [
        EmbeddingContract("m/b", "1", 4, (("chip", 112), ("colour", "rgb"))),
        EmbeddingContract("m/a", "2", 4, (("chip", 112), ("colour", "rgb"))),
        EmbeddingContract("m/a", "1", 4, (("chip", 112), ("colour", "bgr"))),
    ],
    ids=["model", "version", "preprocessing"],
)
def test_different_contract_is_an_error(other: EmbeddingContract) -> None:
    t1, t2 = Template(unit(1, 0, 0, 0), A), Template(unit(1, 0, 0, 0), other)
    with pytest.raises(ContractMismatchError, match="cannot be compared"):
        t1.similarity(t2)
    with pytest.raises(ContractMismatchError):
        fuse([t1, t2])


def test_preprocessing_hash_is_order_independent_and_roundtrips() -> None:
    b = EmbeddingContract("m/a", "1", 4, (("colour", "rgb"), ("chip", 112)))
    assert b.id == A.id
    assert EmbeddingContract.from_dict(A.to_dict()).id == A.id


def test_wrong_dimension_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        Template(unit(1, 0, 0), A)


def test_fuse_is_unit_mean_and_digest_is_stable() -> None:
    f = fuse([Template(unit(1, 0, 0, 0), A), Template(unit(0, 1, 0, 0), A)])
    assert np.linalg.norm(f.vector) == pytest.approx(1.0)
    assert f.vector[0] == pytest.approx(f.vector[1])
    assert f.digest() == Template(f.vector.copy(), A).digest()
    assert len(f.digest()) == 64
