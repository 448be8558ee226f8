/**
 * @file export.h
 * SCLI_API marks what libscli.so exports: the functions of the headers in include/scli/
 * and those of include/scli/sys/ an adapter written outside the tree needs.
 * The library is compiled with -fvisibility=hidden, so everything else (the
 * adapters' insides, the layers' helpers) is not part of the ABI.
 */
#ifndef SCLI_EXPORT_H
#define SCLI_EXPORT_H

#if defined(SCLI_BUILDING_LIBRARY) && defined(__GNUC__)
#define SCLI_API __attribute__((visibility("default")))
#else
#define SCLI_API
#endif

#endif
