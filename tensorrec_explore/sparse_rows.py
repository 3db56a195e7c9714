"""Feature matrices held by TensorFlow as CSR pieces, sliced into sparse batches on the graph.

Identity features are stored as ``n`` ones (never an ``n x n`` matrix); every batch of rows
becomes a ``tf.SparseTensor`` that the built-in representations multiply sparsely.
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
        self._columns = tf.RaggedTensor.from_row_splits(
            tf.constant(matrix.indices.astype(np.int64)), tf.constant(matrix.indptr.astype(np.int64))
        )
        self._values = tf.RaggedTensor.from_row_splits(
            tf.constant(matrix.data.astype(np.float32)), tf.constant(matrix.indptr.astype(np.int64))
        )
        self._all = tf.SparseTensor(
            indices=np.stack([np.repeat(np.arange(self.n_rows), np.diff(matrix.indptr)),
                              matrix.indices], axis=1).astype(np.int64),
            values=matrix.data.astype(np.float32),
            dense_shape=[self.n_rows, self.n_features],
        )

    def rows(self, indices: tf.Tensor) -> tf.SparseTensor:
        """Return the rows ``indices`` as a ``[len(indices), n_features]`` SparseTensor."""
        columns = tf.gather(self._columns, indices)
        values = tf.gather(self._values, indices)
        positions = tf.stack([columns.value_rowids(), columns.flat_values], axis=1)
        return tf.SparseTensor(
            positions, values.flat_values,
            tf.stack([tf.size(indices, out_type=tf.int64), tf.constant(self.n_features, tf.int64)]),
        )

    def all(self) -> tf.SparseTensor:
        """Return every row as one SparseTensor."""
        return self._all

    def dense_rows(self, indices: tf.Tensor) -> tf.Tensor:
        """Return the rows ``indices`` densified ``[len(indices), n_features]`` (duplicates summed)."""
        columns = tf.gather(self._columns, indices)
        values = tf.gather(self._values, indices)
        positions = tf.stack([columns.value_rowids(), columns.flat_values], axis=1)
        shape = tf.stack([tf.size(indices, out_type=tf.int64), tf.constant(self.n_features, tf.int64)])
        return tf.scatter_nd(positions, values.flat_values, shape)
