# Installs the configured build tree into a fresh prefix, then configures, builds
# and runs tests/install/consumer against that prefix alone.
# Variables: BUILD_DIR (the project's build tree), WORK_DIR (scratch, wiped),
# CONSUMER_DIR, CXX (compiler), BUILD_TYPE.
cmake_minimum_required(VERSION 3.20)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "install test: failed (${rc}): ${command}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

foreach(installed IN ITEMS include/ctcnn/ctcnn.hpp include/ctcnn/net/summary.hpp)
  if(NOT EXISTS ${prefix}/${installed})
    message(FATAL_ERROR "install test: ${installed} was not installed")
  endif()
endforeach()

# No package registry and no other prefix: the consumer can only find the fresh install.
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer
    -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
file(STRINGS ${WORK_DIR}/consumer/CMakeCache.txt ctcnn_dir REGEX "^ctcnn_DIR:")
string(FIND "${ctcnn_dir}" "${prefix}/" at)
if(NOT at GREATER 0)
  message(FATAL_ERROR "install test: the consumer found ctcnn outside ${prefix}: ${ctcnn_dir}")
endif()

run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${WORK_DIR}/consumer/consumer ${WORK_DIR}/data)
