// libxml2 is used only for parsing (no DTD loading, no network, no entity substitution)
// and for XSD validation of UBL 2.1 / CII D16B against the shipped schemas.
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
