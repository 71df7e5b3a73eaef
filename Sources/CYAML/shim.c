// libyaml is used as it is (see include/CYAML.h); this file gives the target a translation unit.
#include "CYAML.h"
