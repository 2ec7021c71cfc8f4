


terraform {}
provider "null" { }
locals { one = 1 }



resource "null_resource" "a" {

  triggers = {}


}
data "x" "y" {
}




