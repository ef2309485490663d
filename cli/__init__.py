"""The ``docref-nlp`` command."""
