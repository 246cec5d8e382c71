# Frozen into every VIRT_RV32 image: the project's Python modules.
include("$(PORT_DIR)/manifest.py")
