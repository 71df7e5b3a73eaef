#ifndef LOOKOUT_CYAML_H
#define LOOKOUT_CYAML_H
// libyaml (Debian libyaml-dev). Swift calls its event API directly: nothing in it is
// variadic, and the union of event data imports as named fields.
#include <yaml.h>
#endif
