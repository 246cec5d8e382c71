# Frozen into every VIRT_RV64 image: the project's Python modules.
include("$(PORT_DIR)/manifest.py")
