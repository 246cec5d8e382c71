# Frozen Python shared by every board of the port: MicroPython's asyncio
# package and the project's modules/.
include("$(MPY_DIR)/extmod/asyncio")
freeze("$(PORT_DIR)/../../modules")
