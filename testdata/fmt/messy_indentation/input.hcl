  provider   "aws"   {
	region    =    "us-east-1"   
		  profile="default"	
 assume_role  {
            role_arn     = "arn:aws:iam::123:role/x"   
      }
        }


module    "vpc"{
source="./modules/vpc"  
    cidr   = "10.0.0.0/16"
}
