"""The extension's script (labextension, Voila template) run by Node.js: a widget module's text
seen twice gets one blob: URL (the browser then runs it once), and every other Blob is untouched.
The browser tests check the same in JupyterLab, Notebook 7 and Voila."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tensorrec_explore.app.server import LABEXTENSION

CHECKS = r"""
const fs = require("fs");
const {Blob: NodeBlob} = require("buffer");
globalThis.window = globalThis;
eval(fs.readFileSync(process.argv[1], "utf8"));
const big = "export default 1;".padEnd(200000, " ");
const js = {type: "text/javascript"};
const first = URL.createObjectURL(new Blob([big], js));
const again = URL.createObjectURL(new Blob([big], js));
URL.revokeObjectURL(again);  // anywidget revokes after import: the shared URL must survive
const small = [1, 2].map(() => URL.createObjectURL(new Blob(["x"], js)));
const other = [1, 2].map(() => URL.createObjectURL(new Blob([big], {type: "text/plain"})));
console.log(JSON.stringify({
  shared: first === again,
  counts: Blob.tensorrecExplore,
  smallDistinct: small[0] !== small[1],
  otherTypesDistinct: other[0] !== other[1],
  nativeIsBlob: new NodeBlob(["q"]) instanceof Blob,
  size: new Blob([big], js).size,
  patchedOnce: (eval(fs.readFileSync(process.argv[1], "utf8")), Blob.tensorrecExplore.modules),
}));
"""


def test_a_module_text_seen_twice_gets_one_url():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    out = subprocess.run(
        [node, "-e", CHECKS, str(LABEXTENSION)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    result = json.loads(out)
    assert result == {
        "shared": True,
        "counts": {"modules": 1, "reused": 1},
        "smallDistinct": True,
        "otherTypesDistinct": True,
        "nativeIsBlob": True,
        "size": 200000,
        "patchedOnce": 1,
    }
