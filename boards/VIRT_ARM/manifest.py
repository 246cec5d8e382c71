# Frozen into every VIRT_ARM image: the project's Python modules.
include("$(PORT_DIR)/manifest.py")
