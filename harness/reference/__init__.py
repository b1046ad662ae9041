"""Reference titles: recipes, builder, manifests (`titles`), pristine footage from packages
(`footage`) and synthesized sound (`synth`). Imports `harness.measure` (to draw frame codes and
sync marks) and the top-level modules."""
