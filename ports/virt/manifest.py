# Frozen Python shared by every board of the port: the project's modules/.
freeze("$(PORT_DIR)/../../modules")
