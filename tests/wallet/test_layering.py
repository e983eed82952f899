import subprocess
import sys


def test_wallet_layer_imports_no_ui_library():
    code = "import sys, backends.wallet; sys.exit(bool({'textual', 'rich'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_embit_uses_its_bundled_libsecp256k1_not_the_slow_fallback():
    from embit.util import secp256k1

    assert secp256k1.ec_pubkey_create.__module__ == "embit.util.ctypes_secp256k1"
