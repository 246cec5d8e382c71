# Frozen into every VIRT_AARCH64 image: the project's Python modules.
include("$(PORT_DIR)/manifest.py")
