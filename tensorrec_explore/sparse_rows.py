"""Feature matrices held by TensorFlow as CSR pieces, sliced into sparse batches on the graph.

Identity features are never stored as a matrix: a batch of ids becomes a ``tf.SparseTensor``
with one 1 per row. Other matrices keep their CSR arrays; a batch of rows is gathered with a
handful of plain ops (no ragged tensors, which are slow to trace and to run the first time).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import tensorflow as tf


class SparseRows:
    """Rows of a ``(n_rows, n_features)`` feature matrix, gatherable inside ``tf.function``."""

    def __init__(self, matrix: sp.csr_matrix | None, n_rows: int) -> None:
        self.is_identity = matrix is None
        if matrix is None:
            matrix = sp.identity(n_rows, dtype=np.float32, format="csr")
        matrix = sp.csr_matrix(matrix, dtype=np.float32)
        matrix.sort_indices()
        self.matrix = matrix
        self.n_rows, self.n_features = matrix.shape
        self._indptr = tf.constant(matrix.indptr.astype(np.int64))
        self._columns = tf.constant(matrix.indices.astype(np.int64))
        self._values = tf.constant(matrix.data.astype(np.float32))
        self._all = tf.SparseTensor(
            indices=np.stack(
                [np.repeat(np.arange(self.n_rows), np.diff(matrix.indptr)), matrix.indices], axis=1
            ).astype(np.int64),
            values=matrix.data.astype(np.float32),
            dense_shape=[self.n_rows, self.n_features],
        )

    def rows(self, indices: tf.Tensor) -> tf.SparseTensor:
        """Return the rows ``indices`` as a ``[len(indices), n_features]`` SparseTensor."""
        positions, values = self._gather(indices)
        return tf.SparseTensor(positions, values, self._shape(indices))

    def all(self) -> tf.SparseTensor:
        """Return every row as one SparseTensor."""
        return self._all

    def dense_rows(self, indices: tf.Tensor) -> tf.Tensor:
        """Return the rows ``indices`` densified, ``[len(indices), n_features]``, duplicates
        summed."""
        positions, values = self._gather(indices)
        return tf.scatter_nd(positions, values, self._shape(indices))

    def _shape(self, indices: tf.Tensor) -> tf.Tensor:
        return tf.stack(
            [tf.size(indices, out_type=tf.int64), tf.constant(self.n_features, tf.int64)]
        )

    def _gather(self, indices: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Return the ``[nnz, 2]`` (batch row, column) positions and values of rows ``indices``."""
        indices = tf.cast(indices, tf.int64)
        if self.is_identity:
            batch_rows = tf.range(tf.size(indices, out_type=tf.int64))
            return tf.stack([batch_rows, indices], axis=1), tf.ones(tf.shape(indices), tf.float32)
        starts = tf.gather(self._indptr, indices)
        lengths = tf.gather(self._indptr, indices + 1) - starts
        ends = tf.cumsum(lengths)
        flat = tf.range(tf.reduce_sum(lengths))
        # The batch row of each gathered entry, then its position in the CSR arrays.
        batch_rows = tf.searchsorted(ends, flat, side="right", out_type=tf.int64)
        source = flat + tf.gather(starts - (ends - lengths), batch_rows)
        positions = tf.stack([batch_rows, tf.gather(self._columns, source)], axis=1)
        return positions, tf.gather(self._values, source)
