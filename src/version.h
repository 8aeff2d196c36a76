#ifndef SFN_VERSION_H
#define SFN_VERSION_H
#define SFN_VERSION "0.1.0"
#endif
