"""Every size a problem file, an answers file, a roster or an option may set, in one place.

Each limit is checked before the work it bounds starts, and exceeding one is exit code 2 naming
it (``limits.MAX_...``). They are generous for teaching; each comment gives the measurement
behind it (``python benchmarks/limits.py``, on the 2-core machine the project is developed on,
with other jobs running), and the README's "Limits" section lists them.
"""

MAX_FILE_BYTES = 1_000_000
"""Problem, answers and roster files. The largest shipped problem is under 3 kB; reading a 1 MB
problem file (7,000 rows of 20 numbers) takes 2.2 s."""

MAX_YAML_DEPTH = 50
"""Nesting levels of a YAML file; a problem file needs 4. Checked on the tokens, so that 10,000
nested ``[`` cannot overflow the parser's recursion."""

MAX_LAYERS = 8
"""Entries of network.layers (the input layer included); the deepest shipped network has 5."""

MAX_LAYER_SIZE = 64
"""Neurons in one layer. The layer proofs grow with the layer's Jacobian (w^2 entries): solving
[32, 64, 64, 10] takes about 4 s of CPU, the whole process (benchmarks/large_network.py);
[784, 1000, 10] would not finish."""

MAX_PARAMETERS = 8_000
"""Weights and biases of the whole network: [32, 64, 64, 10] (6,922) solves in about 4 s of CPU,
its terminal solution is 14,000 lines (benchmarks/large_network.py)."""

MAX_EXAMPLES = 100
"""Rows of data.inputs: one step of 100 examples of the 2-2-1 problem solves in 0.1 s."""

MAX_STEPS = 1_000
"""Training steps (training.steps, or epochs times the steps of one epoch): 1,000 steps of the
2-2-1 problem solve in 3.9 s."""

MAX_WORK = 100_000
"""Parameters times steps times the examples of a step, the size of the numbers computed and
verified: 100 steps of a batch of 100 examples of the 2-2-1 problem (90,000) solve in 12 s."""

MAX_DRAWS = 20_000
"""randomisation.max_draws: a draw that fails the constraints costs 0.4 ms, so a variant whose
constraints no draw meets gives up after 8 s."""

MAX_GRID_POINTS = 100_000
"""Values between min and max of one randomisation draw (its list is built exactly, as decimals)."""

MAX_VARIANTS = 10_000
"""--variants, and students of a roster: variants are drawn and verified in batches, about 1 ms
of CPU each for the 2-3-3-1 problem; 10,000 with key.json and quiz.xml are one command
(benchmarks/exam.py --variants 10000 --moodle)."""

MAX_TITLE_CHARS = 200
MAX_INSTRUCTIONS_CHARS = 5_000
"""Free text: a title is one heading and a footer; instructions a few paragraphs."""

MAX_ROSTER_NAME_CHARS = 100
MAX_ROSTER_ID_CHARS = 40
"""A student's name and ID, printed in a box on one line of the sheet."""

# ---- `derive lab` (training on a dataset a package ships; measured: 64-32-10, 30 epochs of
# 1,347 images in batches of 32 trains in 10-20 s twice, NumPy and PyTorch)

#: Epochs of a lab.
MAX_LAB_EPOCHS = 1000
#: Non-input layers of a lab network.
MAX_LAB_LAYERS = 10
#: Neurons in one layer of a lab network.
MAX_LAB_LAYER_SIZE = 4096
#: Weights and biases of a lab network.
MAX_LAB_PARAMETERS = 2_000_000
