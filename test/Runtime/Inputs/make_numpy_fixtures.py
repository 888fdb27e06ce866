"""Writes the NumPy-made .npz fixtures NpzTest reads (run once, by hand:
`python make_numpy_fixtures.py`; the outputs are checked in so that the
tests need no Python). Values are closed-form so the C++ test recomputes
them: element i of every array is  (i % 7) - 3  cast to the dtype (bool:
i % 3 == 0)."""
import io
import zipfile

import numpy as np


def values(dtype, shape):
    n = int(np.prod(shape))
    i = np.arange(n)
    if dtype == np.bool_:
        v = i % 3 == 0
    else:
        v = (i % 7) - 3
    if dtype == np.uint8:
        v = v + 3
    return np.asarray(v, dtype=dtype).reshape(shape)


arrays = {
    "f4": values(np.float32, (2, 3)),
    "f8": values(np.float64, (4,)),
    "i8": values(np.int64, (3, 1, 2)),
    "i4": values(np.int32, (5,)),
    "i1": values(np.int8, (2, 2)),
    "u1": values(np.uint8, (3,)),
    "b1": values(np.bool_, (7,)),
    "f2": values(np.float16, (2, 2)),
    "scalar": np.float32(1.5),
    "empty": np.zeros((0, 3), np.float32),
}
np.savez("numpy_savez.npz", **arrays)
np.savez_compressed("numpy_savez_compressed.npz", **arrays)
np.savez("numpy_fortran.npz", a=np.asfortranarray(values(np.float32, (3, 4))))
np.savez("numpy_bigendian.npz", a=values(np.dtype(">f4"), (3,)))

# A version 2.0 .npy entry (numpy writes these only for huge headers).
buf = io.BytesIO()
np.lib.format.write_array(buf, values(np.float32, (2, 3)), version=(2, 0))
with zipfile.ZipFile("numpy_v2.npz", "w") as z:
    z.writestr("a.npy", buf.getvalue())
