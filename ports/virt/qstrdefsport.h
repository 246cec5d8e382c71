// qstrs specific to this port
// *FORMAT-OFF*
// sys.path entry for modules on the filesystem (main.c)
Q(/lib)
