#include "tls_fixture.h"
