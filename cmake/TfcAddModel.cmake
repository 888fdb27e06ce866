# tfc_add_model: compile an ONNX model with tfc at build time, the way
# IREE's iree_bytecode_module does (docs/RUNTIME.md, "Using tfc from CMake").
#
#   tfc_add_model(TARGET name ONNX model.onnx
#                 [NAME model_name]        # C name: tfc_<model_name>_desc;
#                                          # default: TARGET, made an identifier
#                 [FLAGS --kv-cache ...]   # more tfc options
#                 [EMIT obj|shared]        # default obj
#                 [RUNTIME shared|static]  # libtfcrt the target links; default
#                                          # shared (tfc::tfcrt)
#                 [DATA files...])         # more inputs that trigger a rebuild
#
# Runs the tfc of this package (tfc::tfc) at build time into
# ${CMAKE_CURRENT_BINARY_DIR}/<TARGET>.tfc/<model_name>.{o|so,h,tfcw}, again
# whenever the ONNX file, its external data (model.onnx.data or
# model.onnx_data next to it, and DATA), the flags or the tfc binary change.
# Gives a library target <TARGET> to link:
#   - the model's code: a static library around the object (EMIT obj), or
#     the shared library itself (EMIT shared), plus libtfcrt and libm;
#   - usage requirements: the directory of <model_name>.h (declares
#     `extern const tfc_model_desc tfc_<model_name>_desc`), and the compile
#     definition TFC_MODEL_<MODEL_NAME>_WEIGHTS="<absolute path of the
#     .tfcw>", so an application runs from its build tree with
#       tfc_model_load(&tfc_<name>_desc, TFC_MODEL_<NAME>_WEIGHTS, &model);
#   - properties TFC_MODEL_NAME, TFC_MODEL_DESC (the symbol), TFC_MODEL_HEADER,
#     TFC_MODEL_WEIGHTS, TFC_MODEL_LIBRARY (EMIT shared: the .so).
# An application that is installed or moved takes the weights path at run
# time instead (an argument, an environment variable); tfc_copy_model_weights
# puts the .tfcw next to its executable.

function(tfc_add_model)
  cmake_parse_arguments(ARG "" "TARGET;ONNX;NAME;EMIT;RUNTIME" "FLAGS;DATA"
                        ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "tfc_add_model: unknown arguments "
                        "'${ARG_UNPARSED_ARGUMENTS}'")
  endif()
  if(NOT ARG_TARGET OR NOT ARG_ONNX)
    message(FATAL_ERROR "tfc_add_model: TARGET and ONNX are required")
  endif()
  if(NOT TARGET tfc::tfc)
    message(FATAL_ERROR "tfc_add_model(${ARG_TARGET}): this tfc package has "
                        "no compiler (tfc::tfc); it was built with "
                        "TFC_RUNTIME_ONLY")
  endif()
  if(NOT ARG_EMIT)
    set(ARG_EMIT obj)
  endif()
  if(NOT ARG_EMIT MATCHES "^(obj|shared)$")
    message(FATAL_ERROR "tfc_add_model(${ARG_TARGET}): EMIT must be obj or "
                        "shared, not '${ARG_EMIT}'")
  endif()
  if(NOT ARG_RUNTIME OR ARG_RUNTIME STREQUAL "shared")
    set(runtime tfc::tfcrt)
  elseif(ARG_RUNTIME STREQUAL "static")
    set(runtime tfc::tfcrt_static)
  else()
    message(FATAL_ERROR "tfc_add_model(${ARG_TARGET}): RUNTIME must be "
                        "shared or static, not '${ARG_RUNTIME}'")
  endif()
  if(NOT ARG_NAME)
    set(ARG_NAME ${ARG_TARGET})
  endif()
  string(MAKE_C_IDENTIFIER "${ARG_NAME}" name)
  string(TOUPPER "${name}" upper)

  get_filename_component(onnx "${ARG_ONNX}" ABSOLUTE
                         BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${onnx}")
    message(FATAL_ERROR "tfc_add_model(${ARG_TARGET}): ONNX file '${onnx}' "
                        "does not exist")
  endif()
  set(inputs "${onnx}")
  # External data as torch.onnx and optimum save it.
  foreach(data "${onnx}.data" "${onnx}_data")
    if(EXISTS "${data}")
      list(APPEND inputs "${data}")
    endif()
  endforeach()
  foreach(data IN LISTS ARG_DATA)
    get_filename_component(data "${data}" ABSOLUTE
                           BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND inputs "${data}")
  endforeach()

  set(dir "${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}.tfc")
  set(stem "${dir}/${name}")
  if(ARG_EMIT STREQUAL "obj")
    set(code "${stem}.o")
  else()
    set(code "${stem}.so")
  endif()
  # A file whose content is the command's options, rewritten only when they
  # change: the custom command depends on it, so new FLAGS rebuild with any
  # generator (Ninja would also notice the changed command line).
  file(CONFIGURE OUTPUT "${dir}/options.txt"
       CONTENT "emit=${ARG_EMIT}\nname=${name}\nflags=${ARG_FLAGS}\n")

  set(link_name)
  if(ARG_EMIT STREQUAL "shared")
    set(link_name COMMAND ${CMAKE_COMMAND} -E create_symlink "${name}.so"
                          "${dir}/lib${name}.so"
                  BYPRODUCTS "${dir}/lib${name}.so")
  endif()
  add_custom_command(
    OUTPUT "${code}" "${stem}.h" "${stem}.tfcw"
    COMMAND tfc::tfc "${onnx}" -o "${stem}" "--emit=${ARG_EMIT}"
            --name "${name}" ${ARG_FLAGS}
    ${link_name}
    DEPENDS ${inputs} "${dir}/options.txt" "$<TARGET_FILE:tfc::tfc>"
    COMMENT "tfc: compiling ${ARG_ONNX} (${ARG_TARGET}, --emit=${ARG_EMIT})"
    VERBATIM)
  add_custom_target(${ARG_TARGET}_compile
    DEPENDS "${code}" "${stem}.h" "${stem}.tfcw")

  if(ARG_EMIT STREQUAL "obj")
    set_source_files_properties("${code}" PROPERTIES
      EXTERNAL_OBJECT TRUE GENERATED TRUE)
    add_library(${ARG_TARGET} STATIC "${code}" "${stem}.h")
    set_target_properties(${ARG_TARGET} PROPERTIES LINKER_LANGUAGE C)
    set(scope PUBLIC)
  else()
    # tfc's .so has no SONAME: linked by path, the executable would need it
    # at that (relative) path. Linked as -l<name> through lib<name>.so, it
    # is found through the RUNPATH CMake gives the executable.
    add_library(${ARG_TARGET}_library SHARED IMPORTED)
    set_target_properties(${ARG_TARGET}_library PROPERTIES
      IMPORTED_LOCATION "${dir}/lib${name}.so" IMPORTED_NO_SONAME TRUE)
    add_library(${ARG_TARGET} INTERFACE)
    target_link_libraries(${ARG_TARGET} INTERFACE ${ARG_TARGET}_library)
    set_target_properties(${ARG_TARGET} PROPERTIES
      TFC_MODEL_LIBRARY "${code}")
    set(scope INTERFACE)
  endif()
  # Consumers compile against the generated header: build it first.
  add_dependencies(${ARG_TARGET} ${ARG_TARGET}_compile)
  target_link_libraries(${ARG_TARGET} ${scope} ${runtime} m)
  target_include_directories(${ARG_TARGET} ${scope} "${dir}")
  target_compile_definitions(${ARG_TARGET} ${scope}
    "TFC_MODEL_${upper}_WEIGHTS=\"${stem}.tfcw\"")
  set_target_properties(${ARG_TARGET} PROPERTIES
    TFC_MODEL_NAME "${name}"
    TFC_MODEL_DESC "tfc_${name}_desc"
    TFC_MODEL_HEADER "${stem}.h"
    TFC_MODEL_WEIGHTS "${stem}.tfcw")
endfunction()

# tfc_copy_model_weights(TARGET app MODEL model_target)
# Copies the model's .tfcw next to the app's executable after each build.
function(tfc_copy_model_weights)
  cmake_parse_arguments(ARG "" "TARGET;MODEL" "" ${ARGN})
  if(NOT TARGET "${ARG_TARGET}" OR NOT TARGET "${ARG_MODEL}")
    message(FATAL_ERROR "tfc_copy_model_weights: TARGET and MODEL must be "
                        "targets")
  endif()
  get_target_property(weights ${ARG_MODEL} TFC_MODEL_WEIGHTS)
  add_custom_command(TARGET ${ARG_TARGET} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E copy_if_different "${weights}"
            "$<TARGET_FILE_DIR:${ARG_TARGET}>"
    VERBATIM)
endfunction()
