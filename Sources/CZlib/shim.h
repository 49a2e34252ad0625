// zlib (Debian: zlib1g-dev) for FlateDecode streams in ZUGFeRD/Factur-X PDFs.
#include <zlib.h>
