"""The benchmarks (``docref-nlp bench``, ``bench-api``, ``bench-e2e``, ``bench-stores``,
``bench-batch``): all in this package, built with the composition root, none importing tests."""
